-- scripts/bench/school.sql — a school of realistic size on top of the demo seed, for
-- scripts/bench.sh (issue 19):
--   10,000 courses in all (copies of the published demo curriculum, 80 % published),
--   40 teachers with one class each (20 premiere, 20 terminale), 25 students per class
--   (1,000 students), 25 courses assigned per class, and a school year of work: every
--   student's progress in the class's courses (8 sections each, completion dates over
--   the year) and 30 quizzes per class, one graded attempt each (30,000 attempts).
-- Accounts: bench-teacher-<n>@school.test, bench-student-<n>@school.test, with the demo
-- teacher's / student's password hash (so the demo password signs them in).
-- Run once on a freshly seeded database: psql -v ON_ERROR_STOP=1 -f school.sql
\set ON_ERROR_STOP on
begin;

insert into courses (title, description, level, category, content, prerequisites, objectives, estimated_time,
                     is_published, published_at, created_by)
select c.title || ' — variante ' || g, c.description, c.level, c.category, c.content, c.prerequisites,
       c.objectives, c.estimated_time, g % 5 <> 0, now(), c.created_by
from generate_series(1, greatest(0, 10000 - (select count(*) from courses))) g
join lateral (select * from courses where is_published order by id offset (g % 12) limit 1) c on true;

insert into users (email, password_hash, first_name, last_name, role, is_verified)
select 'bench-teacher-' || g || '@school.test',
       (select password_hash from users where email = 'teacher@nexus-reussite.fr'),
       'Prof', 'Numéro ' || g, 'teacher', true
from generate_series(1, 40) g;

insert into users (email, password_hash, first_name, last_name, role, is_verified)
select 'bench-student-' || g || '@school.test',
       (select password_hash from users where email = 'student@nexus-reussite.fr'),
       'Élève', 'Numéro ' || g, 'student', true
from generate_series(1, 1000) g;

-- Class n (1..40): teacher n, level premiere for odd n, students 25(n-1)+1 .. 25n.
insert into classes (teacher_id, name, level, school_year, join_code)
select t.id, 'Classe ' || g, case when g % 2 = 1 then 'premiere' else 'terminale' end, '2026-2027',
       'BENCH' || lpad(g::text, 3, '0')
from generate_series(1, 40) g join users t on t.email = 'bench-teacher-' || g || '@school.test';

create temporary table bench_class as
select c.id as class_id, c.level, split_part(split_part(t.email, '@', 1), '-', 3)::int as n
from classes c join users t on t.id = c.teacher_id where t.email like 'bench-teacher-%@school.test';

insert into student_profiles (user_id, class_level)
select u.id, bc.level from users u
join bench_class bc on bc.n = (split_part(split_part(u.email, '@', 1), '-', 3)::int - 1) / 25 + 1
where u.email like 'bench-student-%@school.test';

insert into class_members (class_id, student_id, joined_at)
select bc.class_id, u.id, now() - interval '300 days' from users u
join bench_class bc on bc.n = (split_part(split_part(u.email, '@', 1), '-', 3)::int - 1) / 25 + 1
where u.email like 'bench-student-%@school.test';

-- 25 published courses of the class's level, different for each class.
insert into course_classes (course_id, class_id)
select c.id, bc.class_id from bench_class bc
join lateral (select id from courses where is_published and level = bc.level
              order by id offset 100 + bc.n * 25 limit 25) c on true;

-- Progress: every student in every course of their class; 8 sections each, a share of
-- them completed over the last year.
insert into section_progress (student_id, course_id, section_id, completed_at, time_spent_seconds, last_accessed)
select m.student_id, cc.course_id, 'section-' || s,
       case when (m.student_id + cc.course_id + s) % 3 <> 0
            then now() - ((m.student_id * 7 + cc.course_id * 13 + s * 17) % 330) * interval '1 day' end,
       600, now() - ((m.student_id + s) % 330) * interval '1 day'
from bench_class bc join class_members m on m.class_id = bc.class_id
join course_classes cc on cc.class_id = bc.class_id, generate_series(1, 8) s;

insert into student_progress (student_id, course_id, progress_percentage, last_accessed, completed_at,
                              time_spent_seconds, started_at)
select sp.student_id, sp.course_id, (count(sp.completed_at) * 100 / 8)::int, max(sp.last_accessed),
       case when count(sp.completed_at) = 8 then max(sp.completed_at) end, sum(sp.time_spent_seconds),
       now() - interval '330 days'
from section_progress sp join bench_class bc on true
join class_members m on m.class_id = bc.class_id and m.student_id = sp.student_id
group by sp.student_id, sp.course_id;

-- 30 quizzes per class over the year (questions of a demo quiz), each open a week;
-- the last two are still open.
create temporary table bench_quiz as
select bc.class_id, bc.n, q, (select id from users where email = 'bench-teacher-' || bc.n || '@school.test') as teacher_id
from bench_class bc, generate_series(1, 30) q;

insert into assessments (title, type, questions, max_score, is_published, created_by, max_attempts)
select 'Quiz ' || bq.q || ' — classe ' || bq.n, 'quiz', d.questions, d.max_score, true, bq.teacher_id, 2
from bench_quiz bq, (select questions, max_score from assessments order by id limit 1) d
order by bq.n, bq.q;

insert into assessment_classes (assessment_id, class_id, opens_at, closes_at, published_at)
select a.id, bq.class_id, now() - (330 - bq.q * 11) * interval '1 day',
       now() - (330 - bq.q * 11) * interval '1 day' + interval '7 days',
       now() - (330 - bq.q * 11) * interval '1 day'
from bench_quiz bq join assessments a on a.title = 'Quiz ' || bq.q || ' — classe ' || bq.n and a.created_by = bq.teacher_id;

-- One graded attempt per student and closed quiz (28 per class).
insert into assessment_results (assessment_id, student_id, attempt_number, status, score, max_score,
                                started_at, completed_at, submitted_at, graded_at)
select p.assessment_id, m.student_id, 1, 'graded',
       round((a.max_score * ((m.student_id * 31 + p.assessment_id * 7) % 101) / 100.0)::numeric, 2), a.max_score,
       p.opens_at + interval '1 day', p.opens_at + interval '1 day 20 minutes',
       p.opens_at + interval '1 day 20 minutes', p.opens_at + interval '1 day 20 minutes'
from bench_class bc join assessment_classes p on p.class_id = bc.class_id
join assessments a on a.id = p.assessment_id
join class_members m on m.class_id = bc.class_id
where p.closes_at < now();

commit;
-- A year's rows are not loaded at once in a school's life: autovacuum would long have set
-- the visibility map the index-only scans rely on (the dashboard's completed sections).
vacuum analyze;
