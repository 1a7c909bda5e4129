-- The learning domain: classes, course search and assignment, progress per section,
-- assessments published to classes with attempts, notifications and their outbox.

-- French full-text search that ignores accents: "recursivite" finds "récursivité",
-- and the french stemmer folds plurals ("graphes" finds "graphe").
create extension if not exists unaccent;
create text search configuration nexus_fr (copy = french);
alter text search configuration nexus_fr
    alter mapping for hword, hword_part, word with unaccent, french_stem;

create table classes (
    id           bigint generated always as identity primary key,
    teacher_id   bigint not null references users (id) on delete restrict,
    name         text not null check (length(name) between 1 and 100),
    level        text not null check (level in ('premiere', 'terminale')),
    school_year  text not null check (school_year ~ '^[0-9]{4}-[0-9]{4}$'),
    join_code    text not null unique,
    archived_at  timestamptz,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
);
create index classes_teacher_idx on classes (teacher_id);
create trigger classes_updated_at before update on classes
    for each row execute function set_updated_at();

create table class_members (
    class_id    bigint not null references classes (id) on delete cascade,
    student_id  bigint not null references users (id) on delete cascade,
    joined_at   timestamptz not null default now(),
    primary key (class_id, student_id)
);
create index class_members_student_idx on class_members (student_id);

alter table courses add column search tsvector generated always as (
    setweight(to_tsvector('nexus_fr'::regconfig, coalesce(title, '')), 'A')
    || setweight(to_tsvector('nexus_fr'::regconfig, coalesce(description, '')), 'B')
    || setweight(jsonb_to_tsvector('nexus_fr'::regconfig, content, '["string"]'), 'C')
) stored;
create index courses_search_idx on courses using gin (search);
-- Ranking reads this small vector (title and description) rather than the whole
-- content: ranking hundreds of large vectors per query is what makes search slow.
alter table courses add column search_head tsvector generated always as (
    setweight(to_tsvector('nexus_fr'::regconfig, coalesce(title, '')), 'A')
    || setweight(to_tsvector('nexus_fr'::regconfig, coalesce(description, '')), 'B')
) stored;

create table course_classes (
    course_id    bigint not null references courses (id) on delete cascade,
    class_id     bigint not null references classes (id) on delete cascade,
    assigned_at  timestamptz not null default now(),
    primary key (course_id, class_id)
);
create index course_classes_class_idx on course_classes (class_id);

alter table student_progress
    add column time_spent_seconds bigint not null default 0 check (time_spent_seconds >= 0),
    add column started_at timestamptz not null default now();
create index student_progress_recent_idx on student_progress (student_id, last_accessed desc);

create table section_progress (
    student_id          bigint not null references users (id) on delete cascade,
    course_id           bigint not null references courses (id) on delete cascade,
    section_id          text not null check (length(section_id) <= 100),
    completed_at        timestamptz,
    time_spent_seconds  bigint not null default 0 check (time_spent_seconds >= 0),
    last_accessed       timestamptz not null default now(),
    primary key (student_id, course_id, section_id)
);

alter table assessments
    add column description text,
    add column max_attempts integer not null default 1 check (max_attempts between 1 and 100),
    -- What the server does with a submission after the deadline: refuse it (kept,
    -- ungraded, visible to the teacher) or accept it flagged late.
    add column late_policy text not null default 'flag' check (late_policy in ('flag', 'refuse')),
    add column answers_released boolean not null default false,
    -- How ARIA may help while an attempt is in progress (issue 5).
    add column help_mode text not null default 'default'
        check (help_mode in ('default', 'explain', 'hints', 'none'));
alter table assessments alter column max_score type numeric(8, 2);

create table assessment_classes (
    assessment_id          bigint not null references assessments (id) on delete cascade,
    class_id               bigint not null references classes (id) on delete cascade,
    opens_at               timestamptz not null default now(),
    closes_at              timestamptz,
    published_at           timestamptz not null default now(),
    due_soon_notified_at   timestamptz,
    primary key (assessment_id, class_id),
    check (closes_at is null or closes_at > opens_at)
);
create index assessment_classes_class_idx on assessment_classes (class_id);
create index assessment_classes_closing_idx on assessment_classes (closes_at)
    where due_soon_notified_at is null and closes_at is not null;

alter table assessment_results
    add column attempt_number integer not null default 1 check (attempt_number >= 1),
    add column status text not null default 'in_progress'
        check (status in ('in_progress', 'submitted', 'graded', 'refused')),
    add column deadline_at timestamptz,
    add column submitted_at timestamptz,
    add column is_late boolean not null default false,
    -- Per-question grading: {"q1": {"points": 1, "maxPoints": 1, "status": "correct", "feedback": ...}}
    add column breakdown jsonb not null default '{}',
    add constraint assessment_results_attempt_key unique (assessment_id, student_id, attempt_number);
create index assessment_results_queue_idx on assessment_results (assessment_id) where status = 'submitted';
create index assessment_results_recent_idx on assessment_results (student_id, completed_at desc);

create table notifications (
    id          bigint generated always as identity primary key,
    event_id    uuid not null unique default gen_random_uuid(),
    user_id     bigint not null references users (id) on delete cascade,
    kind        text not null,
    title       text not null,
    body        text not null default '',
    data        jsonb not null default '{}',
    created_at  timestamptz not null default now(),
    read_at     timestamptz
);
create index notifications_user_idx on notifications (user_id, id desc);
create index notifications_unread_idx on notifications (user_id) where read_at is null;

-- Events for other services (the websocket hub), written in the same transaction as the
-- change that causes them and relayed to Redis at least once.
create table outbox (
    id          bigint generated always as identity primary key,
    event_id    uuid not null unique,
    topic       text not null,
    payload     jsonb not null,
    created_at  timestamptz not null default now(),
    relayed_at  timestamptz
);
create index outbox_pending_idx on outbox (id) where relayed_at is null;
