-- ARIA's class filter (issue #16): every chunk carries the ids of the classes its
-- course is assigned to, so a student's question can be searched among their class's
-- courses first. Kept by a trigger on course_classes, which also bumps
-- aria_index_version: the embedded stores reload, and the Qdrant sync rewrites the
-- points' `class_ids` payload.

alter table aria_chunks add column class_ids bigint[] not null default '{}';

update aria_chunks k
   set class_ids = coalesce((select array_agg(cc.class_id order by cc.class_id)
                              from course_classes cc where cc.course_id = k.course_id), '{}');

create function aria_chunks_follow_course_classes() returns trigger
language plpgsql as $$
declare
    course bigint;
begin
    foreach course in array array[
        case when tg_op in ('UPDATE', 'DELETE') then old.course_id end,
        case when tg_op in ('INSERT', 'UPDATE') then new.course_id end
    ] loop
        if course is not null then
            update aria_chunks
               set class_ids = coalesce((select array_agg(cc.class_id order by cc.class_id)
                                          from course_classes cc where cc.course_id = course), '{}')
             where course_id = course;
        end if;
    end loop;
    update aria_index_version set version = version + 1;
    return null;
end
$$;

create trigger aria_chunks_follow_course_classes
    after insert or update or delete on course_classes
    for each row execute function aria_chunks_follow_course_classes();
