-- The API also keeps the catalogue's pages as students and parents get them (issue 19):
-- a new course changes them, so an insert notifies too (the payload is the new id; an
-- update or a delete already notifies, migration 20261206000300).
create function courses_notify_insert() returns trigger language plpgsql as $$
begin
    perform pg_notify('nexus_course_changed', new.id::text);
    return null;
end $$;

create trigger courses_notify_insert after insert on courses
    for each row execute function courses_notify_insert();
