-- The course catalogue at 10,000 courses (issue 19).
--
-- 1. Listing totals without counting: `course_counts` holds, per (published?, level,
--    category), how many courses there are. A row trigger on `courses` keeps it exact in
--    the same transaction as the change (create, edit of level or category, publish,
--    unpublish, delete), so every API replica reads the same, committed total and there is
--    nothing to invalidate. `category` null is stored as ''. The API still counts the rows
--    of searches, class and "mine" filters and a teacher's own drafts (small sets).
create table course_counts (
    is_published boolean not null,
    level        text not null,
    category     text not null,
    n            bigint not null check (n >= 0),
    primary key (is_published, level, category)
);

create function course_counts_apply(published boolean, lvl text, cat text, delta bigint)
returns void language plpgsql as $$
begin
    if delta > 0 then
        insert into course_counts (is_published, level, category, n)
        values (published, lvl, coalesce(cat, ''), delta)
        on conflict (is_published, level, category) do update set n = course_counts.n + excluded.n;
    else
        -- The row exists: the course being taken out was counted in it.
        update course_counts set n = n + delta
        where is_published = published and level = lvl and category = coalesce(cat, '');
    end if;
end $$;

create function course_counts_track() returns trigger language plpgsql as $$
begin
    if tg_op = 'UPDATE' then
        if old.is_published is not distinct from new.is_published
           and old.level is not distinct from new.level
           and old.category is not distinct from new.category then
            return null; -- nothing the totals depend on changed
        end if;
    end if;
    if tg_op in ('UPDATE', 'DELETE') then
        perform course_counts_apply(old.is_published, old.level, old.category, -1);
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
        perform course_counts_apply(new.is_published, new.level, new.category, 1);
    end if;
    return null;
end $$;

create trigger courses_counts after insert or update or delete on courses
    for each row execute function course_counts_track();

insert into course_counts (is_published, level, category, n)
select is_published, level, coalesce(category, ''), count(*) from courses
group by 1, 2, 3;

-- 2. A page of ten in id order for a level (the web app's filter) or a category: the
--    listing index (is_published, level, category, id) gives a level's rows ordered by
--    category first, so Postgres read and sorted all ~5,000 of them for each page.
create index courses_published_level_idx on courses (level, id) where is_published;
create index courses_published_category_idx on courses (category, id) where is_published;
