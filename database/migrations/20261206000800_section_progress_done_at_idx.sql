-- A student's sections completed in a period, by date: the dashboard's weekly activity
-- (the last 8 weeks) reads a range of this index instead of every section the student
-- ever completed (`section_progress_done_idx` is ordered by course and section).
create index section_progress_done_at_idx on section_progress (student_id, completed_at)
    where completed_at is not null;
