-- The course detail is the hottest read of the API, and most of its Postgres time went
-- into printing the `content` jsonb as JSON text (jsonb_out/escape_json: 5.4 % of the
-- whole machine's CPU, the decompression 2 % more; perf during `scripts/bench.sh`'s
-- detail scenario at 10,000 courses, 2026-12-03). The text is now kept next to it,
-- computed by Postgres on every write (nothing to invalidate), and stored uncompressed:
-- a read copies it out as is.
alter table courses add column content_text text generated always as (content::text) stored;
alter table courses alter column content_text set storage external;
