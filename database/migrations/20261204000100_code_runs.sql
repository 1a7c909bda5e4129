-- The student's latest "Exécuter" per (attempt, question), for ARIA (issue #15, item 4):
-- the code run and the results of the VISIBLE tests only (hidden tests never run on
-- "Exécuter", and nothing of them is stored here). Replaced by each newer run; gone
-- with the attempt.
create table code_runs (
    attempt_id   bigint not null references assessment_results (id) on delete cascade,
    question_id  text not null check (length(question_id) <= 200),
    code         text not null,
    results      jsonb not null,
    ran_at       timestamptz not null default now(),
    primary key (attempt_id, question_id)
);
