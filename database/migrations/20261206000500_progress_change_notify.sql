-- The API keeps in memory each student's dashboard (by student id) and each class's
-- progress table (by class id) (issue 19). These triggers tell every replica, when a
-- change commits (`pg_notify` is transactional), whose copy it made stale:
--   nexus_student_changed  payload: a student id, or '*' for every student
--   nexus_class_changed    payload: a class id, or '*' for every class
-- Postgres sends one notification per distinct (channel, payload) of a transaction, so a
-- statement touching many rows of one student sends one.
-- What each copy shows, and the trigger that covers it:
--   dashboard: the student's name and level (users, student_profiles), their courses'
--     progress and titles (student_progress, section_progress, courses), the assessments
--     open to their classes (class_members, assessment_classes, classes.archived_at,
--     assessments), their attempts (assessment_results). Opening and closing times pass
--     without a write: the API stores the dashboard until the next one.
--   class progress: the members and their names (class_members, users), the class's
--     courses and titles (course_classes, courses), the members' progress
--     (student_progress).

create function notify_student_changed(student bigint) returns void language sql as $$
    select pg_notify('nexus_student_changed', student::text)
$$;

-- The classes a student is in, each told that its table changed.
create function notify_classes_of(student bigint) returns void language sql as $$
    select pg_notify('nexus_class_changed', m.class_id::text) from class_members m
    where m.student_id = student
$$;

-- Every member of a class, each told that their dashboard changed.
create function notify_members_of(class bigint) returns void language sql as $$
    select pg_notify('nexus_student_changed', m.student_id::text) from class_members m
    where m.class_id = class
$$;

-- Tables with a student_id: the student's dashboard; student_progress also feeds the
-- tables of the student's classes, and class_members the class's own.
create function student_rows_notify_change() returns trigger language plpgsql as $$
begin
    -- Of an update, both rows: the old one's student (or class) no longer has it.
    if tg_op <> 'DELETE' then
        perform notify_student_changed(new.student_id);
        if tg_table_name = 'student_progress' then
            perform notify_classes_of(new.student_id);
        elsif tg_table_name = 'class_members' then
            perform pg_notify('nexus_class_changed', new.class_id::text);
        end if;
    end if;
    if tg_op <> 'INSERT' then
        perform notify_student_changed(old.student_id);
        if tg_table_name = 'student_progress' then
            perform notify_classes_of(old.student_id);
        elsif tg_table_name = 'class_members' then
            perform pg_notify('nexus_class_changed', old.class_id::text);
        end if;
    end if;
    return null;
end $$;

create trigger student_progress_notify_change after insert or update or delete on student_progress
    for each row execute function student_rows_notify_change();
create trigger section_progress_notify_change after insert or update or delete on section_progress
    for each row execute function student_rows_notify_change();
-- An attempt's answers change at every autosave; the dashboard shows its status and score.
create trigger assessment_results_notify_change after insert or delete on assessment_results
    for each row execute function student_rows_notify_change();
create trigger assessment_results_notify_update after update on assessment_results
    for each row when (old.status is distinct from new.status or old.score is distinct from new.score
                       or old.max_score is distinct from new.max_score
                       or old.submitted_at is distinct from new.submitted_at
                       or old.student_id is distinct from new.student_id
                       or old.assessment_id is distinct from new.assessment_id)
    execute function student_rows_notify_change();
create trigger class_members_notify_change after insert or update or delete on class_members
    for each row execute function student_rows_notify_change();

create function student_profiles_notify_change() returns trigger language plpgsql as $$
begin
    perform notify_student_changed(coalesce(new.user_id, old.user_id));
    if tg_op = 'UPDATE' and new.user_id <> old.user_id then
        perform notify_student_changed(old.user_id);
    end if;
    return null;
end $$;

create trigger student_profiles_notify_change after insert or update or delete on student_profiles
    for each row execute function student_profiles_notify_change();

-- A name shows on the student's dashboard and in their classes' tables. (A deleted user's
-- rows go with them, and their own triggers tell.)
create function users_notify_name_change() returns trigger language plpgsql as $$
begin
    perform notify_student_changed(new.id);
    perform notify_classes_of(new.id);
    return null;
end $$;

create trigger users_notify_name_change after update on users
    for each row when (old.first_name is distinct from new.first_name
                       or old.last_name is distinct from new.last_name)
    execute function users_notify_name_change();

create function course_classes_notify_change() returns trigger language plpgsql as $$
begin
    perform pg_notify('nexus_class_changed', coalesce(new.class_id, old.class_id)::text);
    if tg_op = 'UPDATE' and new.class_id <> old.class_id then
        perform pg_notify('nexus_class_changed', old.class_id::text);
    end if;
    return null;
end $$;

create trigger course_classes_notify_change after insert or update or delete on course_classes
    for each row execute function course_classes_notify_change();

-- An assessment given to a class (or its dates changed, or taken back), and a class
-- archived or restored: the due assessments of every member.
create function class_assessments_notify_change() returns trigger language plpgsql as $$
begin
    if tg_table_name = 'classes' then
        perform notify_members_of(new.id);
    else
        perform notify_members_of(coalesce(new.class_id, old.class_id));
        if tg_op = 'UPDATE' and new.class_id <> old.class_id then
            perform notify_members_of(old.class_id);
        end if;
    end if;
    return null;
end $$;

create trigger assessment_classes_notify_change after insert or update or delete on assessment_classes
    for each row execute function class_assessments_notify_change();
create trigger classes_notify_archive after update on classes
    for each row when (old.archived_at is distinct from new.archived_at)
    execute function class_assessments_notify_change();

-- What many students' copies show of a course or an assessment: rare changes, every copy
-- goes.
create function catalogue_notify_change() returns trigger language plpgsql as $$
begin
    perform pg_notify('nexus_student_changed', '*');
    if tg_table_name = 'courses' then
        perform pg_notify('nexus_class_changed', '*');
    end if;
    return null;
end $$;

create trigger courses_notify_progress_change after update on courses
    for each row when (old.title is distinct from new.title
                       or old.is_published is distinct from new.is_published)
    execute function catalogue_notify_change();
create trigger assessments_notify_dashboard_change after update on assessments
    for each row when (old.title is distinct from new.title or old.type is distinct from new.type
                       or old.max_attempts is distinct from new.max_attempts)
    execute function catalogue_notify_change();
