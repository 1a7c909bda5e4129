-- ARIA's retrieval index: the published courses cut along their sections, with a
-- French full-text vector (accents and plurals folded, stop words dropped). Kept in
-- Postgres, so a restart re-indexes nothing; rebuilt per course on course events.

create table aria_chunks (
    id             bigint generated always as identity primary key,
    course_id      bigint not null references courses (id) on delete cascade,
    chapter_id     text not null,
    section_id     text not null,
    course_title   text not null,
    chapter_title  text not null,
    section_title  text not null,
    level          text not null,
    category       text,
    text           text not null,
    search         tsvector generated always as (
        setweight(to_tsvector('nexus_fr'::regconfig, section_title), 'A')
        || setweight(to_tsvector('nexus_fr'::regconfig, course_title || ' ' || chapter_title), 'B')
        || setweight(to_tsvector('nexus_fr'::regconfig, text), 'C')
    ) stored,
    indexed_at     timestamptz not null default now(),
    unique (course_id, section_id)
);
create index aria_chunks_search_idx on aria_chunks using gin (search);
create index aria_chunks_level_idx on aria_chunks (level);

alter table aria_messages add column sources jsonb not null default '[]';
