-- Every mail goes through the queue (password reset, address verification and roster
-- invitations too, not only digests). Mails carrying a single-use token (reset,
-- verification, a new account's set-password link) have their bodies blanked once
-- sent: the token is stored hashed in auth_tokens, and the queue must not keep a
-- usable copy of it.
alter table mail_queue add column secret boolean not null default false;
