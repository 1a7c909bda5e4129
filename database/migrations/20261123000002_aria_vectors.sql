-- Dense vectors of ARIA's chunks (sentence embeddings), computed once and kept: a
-- restart re-embeds nothing, and vectors of another model are recomputed.
alter table aria_chunks
    add column embedding        real[],
    add column embedding_model  text,
    add column embedded_at      timestamptz;
create index aria_chunks_unembedded_idx on aria_chunks (id) where embedding is null;

-- Bumped with every change to the chunks or their vectors (in the same transaction):
-- each ARIA replica compares it with the copy it holds in memory.
create table aria_index_version (
    id       integer primary key default 1 check (id = 1),
    version  bigint not null default 0
);
insert into aria_index_version default values;
