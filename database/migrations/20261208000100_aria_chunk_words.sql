-- ARIA's excerpts without analysing a passage again at each question (issue #19).
-- `ts_headline` parsed and stemmed each ~2,500-character passage anew (~0.5 ms a
-- passage, the longest part of a search after the question's embedding). Each chunk
-- now carries, for every word Postgres' French analysis counts (position n of
-- `to_tsvector('nexus_fr', text)` is word n), its character span in the text and its
-- lexeme ('' for a stop word): ARIA cuts the excerpts around the question's lexemes
-- itself (crate::excerpt). Stored as bytes (two big-endian int4 a word) and as one
-- text (the lexemes joined by spaces, which no lexeme holds): an int4[] and a text[]
-- cost Postgres ~0.5 ms to send for five passages, element by element.

-- The default parser's tokens tile the text, except the compound ones (a URL, a
-- hyphenated word), which come before their parts and overlap them. Every token type
-- nexus_fr maps to a dictionary counts as a word (a stop word too: it has a position).
create function aria_word_spans(body text) returns bytea
language sql immutable parallel safe as $$
    select coalesce(string_agg(int4send(s.bound::int4), ''::bytea order by t.ord, s.edge), ''::bytea)
      from (select p.ord, p.tokid, length(p.token) as len,
                   coalesce(sum(length(p.token)) filter (where p.tokid not in (5, 15, 16, 17))
                            over (order by p.ord rows between unbounded preceding and 1 preceding), 0) as start
              from pg_catalog.ts_parse('default', body) with ordinality p(tokid, token, ord)) t
     cross join lateral (values (0, t.start), (1, t.start + t.len)) s(edge, bound)
     where t.tokid in (select maptokentype from pg_catalog.pg_ts_config_map
                        where mapcfg = 'public.nexus_fr'::regconfig)
$$;

create function aria_word_lexemes(body text) returns text
language sql immutable parallel safe as $$
    with w as (select u.lexeme, p
                 from unnest(to_tsvector('public.nexus_fr'::regconfig, body)) u, unnest(u.positions) p)
    select coalesce(string_agg(coalesce(l.lexeme, ''), ' ' order by n.n), '')
      from generate_series(1, (select coalesce(max(p), 0) from w)) n(n)
      left join (select min(lexeme) as lexeme, p from w group by p) l on l.p = n.n
$$;

alter table aria_chunks
    add column word_spans bytea not null generated always as (aria_word_spans(text)) stored,
    add column word_lexemes text not null generated always as (aria_word_lexemes(text)) stored;
