-- The API keeps the detail of published courses in memory (issue 19); this trigger tells
-- every replica which course changed, when the change commits (`pg_notify` is
-- transactional), so that it drops its copy. The payload is the course id.
-- Inserts need no notice: a new id has nothing cached.
create function courses_notify_change() returns trigger language plpgsql as $$
begin
    perform pg_notify('nexus_course_changed', old.id::text);
    return null;
end $$;

create trigger courses_notify_change after update or delete on courses
    for each row execute function courses_notify_change();
