-- A student's completed sections, read without the table: each course's count and ids on
-- the progress pages (one index range per course, in section order) and the dashboard's
-- weekly activity (its `completed_at` is included). Rows not completed are not indexed.
create index section_progress_done_idx on section_progress (student_id, course_id, section_id)
    include (completed_at) where completed_at is not null;
