-- The API remembers which sessions it found live (issue 19: one query fewer on every
-- request); these triggers tell every replica, when the change commits, that a user's
-- sessions must be read again. The payload is the user id. What the API checks
-- (`Authenticator::load`): the user's role and `is_active`, and that the token's session
-- still has a refresh token not revoked. Only changes that can end a session or change
-- the role notify: a new session, a sign-in or a profile edit do not.
create function users_notify_auth_change() returns trigger language plpgsql as $$
begin
    if tg_op = 'DELETE'
       or old.role is distinct from new.role
       or old.is_active is distinct from new.is_active then
        perform pg_notify('nexus_auth_changed', old.id::text);
    end if;
    return null;
end $$;

create trigger users_notify_auth_change after update or delete on users
    for each row execute function users_notify_auth_change();

create function auth_tokens_notify_change() returns trigger language plpgsql as $$
begin
    if old.token_type = 'refresh' and old.revoked_at is null
       and (tg_op = 'DELETE'
            or new.revoked_at is not null
            or new.token_type is distinct from old.token_type
            or new.family_id is distinct from old.family_id
            or new.user_id is distinct from old.user_id) then
        perform pg_notify('nexus_auth_changed', old.user_id::text);
    end if;
    return null;
end $$;

create trigger auth_tokens_notify_change after update or delete on auth_tokens
    for each row execute function auth_tokens_notify_change();
