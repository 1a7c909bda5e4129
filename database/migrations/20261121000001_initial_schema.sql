-- Initial schema: the seed's tables, made stricter.
-- Departures from the seed, and why:
--   * timestamptz everywhere (the seed's bare TIMESTAMP loses the zone);
--   * emails unique case-insensitively (unique index on lower(email));
--   * updated_at maintained by a trigger rather than by every query;
--   * a student may have several parents (parent_links) instead of one parent_id column;
--   * auth_tokens hold only hashes, with a family id for refresh-token rotation and
--     reuse detection; access tokens are stateless JWTs and are not stored;
--   * NOT NULL and CHECK constraints where the seed left values free.

create function set_updated_at() returns trigger
language plpgsql as $$
begin
    new.updated_at := now();
    return new;
end;
$$;

create table users (
    id             bigint generated always as identity primary key,
    email          text not null check (length(email) between 3 and 254),
    password_hash  text not null,
    first_name     text not null check (length(first_name) between 1 and 100),
    last_name      text not null check (length(last_name) between 1 and 100),
    role           text not null check (role in ('student', 'parent', 'teacher', 'admin')),
    phone          text check (length(phone) <= 20),
    date_of_birth  date,
    is_active      boolean not null default true,
    is_verified    boolean not null default false,
    last_login_at  timestamptz,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now()
);
create unique index users_email_lower_key on users (lower(email));
create index users_role_idx on users (role, id);
create trigger users_updated_at before update on users
    for each row execute function set_updated_at();

create table student_profiles (
    user_id        bigint primary key references users (id) on delete cascade,
    class_level    text not null check (class_level in ('premiere', 'terminale')),
    school_name    text check (length(school_name) <= 200),
    academic_year  text check (length(academic_year) <= 10),
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now()
);
create trigger student_profiles_updated_at before update on student_profiles
    for each row execute function set_updated_at();

-- A parent sees the children linked here; a link is made with a pairing code the
-- student hands to the parent.
create table parent_links (
    parent_id   bigint not null references users (id) on delete cascade,
    student_id  bigint not null references users (id) on delete cascade,
    created_at  timestamptz not null default now(),
    primary key (parent_id, student_id)
);
create index parent_links_student_idx on parent_links (student_id);

create table pairing_codes (
    id          bigint generated always as identity primary key,
    student_id  bigint not null references users (id) on delete cascade,
    code_hash   text not null unique,
    expires_at  timestamptz not null,
    used_at     timestamptz,
    used_by     bigint references users (id) on delete set null,
    created_at  timestamptz not null default now()
);
create index pairing_codes_student_idx on pairing_codes (student_id);

create table courses (
    id              bigint generated always as identity primary key,
    title           text not null check (length(title) between 1 and 200),
    description     text,
    level           text not null check (level in ('premiere', 'terminale')),
    category        text check (length(category) <= 50),
    content         jsonb not null default '{"chapters": []}',
    prerequisites   jsonb not null default '[]',
    objectives      jsonb not null default '[]',
    estimated_time  integer check (estimated_time >= 0),
    is_published    boolean not null default false,
    published_at    timestamptz,
    created_by      bigint references users (id) on delete set null,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now()
);
create index courses_listing_idx on courses (is_published, level, category, id);
create index courses_created_by_idx on courses (created_by);
create trigger courses_updated_at before update on courses
    for each row execute function set_updated_at();

create table student_progress (
    id                   bigint generated always as identity primary key,
    student_id           bigint not null references users (id) on delete cascade,
    course_id            bigint not null references courses (id) on delete cascade,
    progress_percentage  integer not null default 0 check (progress_percentage between 0 and 100),
    last_accessed        timestamptz not null default now(),
    completed_at         timestamptz,
    unique (student_id, course_id)
);
create index student_progress_course_idx on student_progress (course_id);

create table assessments (
    id                  bigint generated always as identity primary key,
    course_id           bigint references courses (id) on delete set null,
    title               text not null check (length(title) between 1 and 200),
    type                text not null check (type in ('quiz', 'tp', 'exam', 'project')),
    questions           jsonb not null default '[]',
    max_score           integer check (max_score >= 0),
    time_limit_minutes  integer check (time_limit_minutes > 0),
    is_published        boolean not null default false,
    created_by          bigint references users (id) on delete set null,
    created_at          timestamptz not null default now(),
    updated_at          timestamptz not null default now()
);
create index assessments_course_idx on assessments (course_id);
create index assessments_created_by_idx on assessments (created_by);
create trigger assessments_updated_at before update on assessments
    for each row execute function set_updated_at();

create table assessment_results (
    id             bigint generated always as identity primary key,
    assessment_id  bigint not null references assessments (id) on delete cascade,
    student_id     bigint not null references users (id) on delete cascade,
    answers        jsonb not null default '{}',
    score          numeric(8, 2),
    max_score      numeric(8, 2),
    started_at     timestamptz not null default now(),
    completed_at   timestamptz,
    graded_by      bigint references users (id) on delete set null,
    graded_at      timestamptz,
    feedback       text,
    created_at     timestamptz not null default now(),
    updated_at     timestamptz not null default now()
);
create index assessment_results_student_idx on assessment_results (student_id, assessment_id);
create index assessment_results_assessment_idx on assessment_results (assessment_id);
create trigger assessment_results_updated_at before update on assessment_results
    for each row execute function set_updated_at();

create table aria_sessions (
    id                bigint generated always as identity primary key,
    user_id           bigint not null references users (id) on delete cascade,
    session_id        text not null unique check (length(session_id) <= 100),
    title             text,
    context           jsonb not null default '{}',
    created_at        timestamptz not null default now(),
    last_interaction  timestamptz not null default now()
);
create index aria_sessions_user_idx on aria_sessions (user_id, last_interaction desc);

create table aria_messages (
    id            bigint generated always as identity primary key,
    session_id    text not null references aria_sessions (session_id) on delete cascade,
    message_type  text not null check (message_type in ('user', 'assistant')),
    content       text not null,
    metadata      jsonb not null default '{}',
    created_at    timestamptz not null default now()
);
create index aria_messages_session_idx on aria_messages (session_id, created_at);

-- Refresh and password-reset tokens, by hash only. A refresh token that is presented
-- is marked used and replaced by a new one of the same family; presenting a used one
-- again means it was stolen, and the whole family is revoked.
create table auth_tokens (
    id           bigint generated always as identity primary key,
    user_id      bigint not null references users (id) on delete cascade,
    token_hash   text not null unique,
    token_type   text not null check (token_type in ('refresh', 'reset')),
    family_id    uuid,
    expires_at   timestamptz not null,
    used_at      timestamptz,
    revoked_at   timestamptz,
    created_at   timestamptz not null default now(),
    check (token_type <> 'refresh' or family_id is not null)
);
create index auth_tokens_user_idx on auth_tokens (user_id, token_type);
create index auth_tokens_family_idx on auth_tokens (family_id) where family_id is not null;
