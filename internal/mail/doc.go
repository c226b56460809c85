// Package mail sends thot's outgoing e-mail: credentials, HPS form links,
// status changes, approvals, rejections and expiry reminders.
//
// # Flow
//
// A feature renders a Spanish template (Render; templates are embedded,
// text and HTML, see templates/) and queues the message with
// Mailer.EnqueueTx inside the transaction of the change that causes it.
// That inserts a mail_messages row and a River job "mail.send" on the
// email queue in the same transaction, so mail goes out if and only if the
// change commits. SendWorker then hands the message to a Sender: the SMTP
// relay (SMTPSender, go-mail) or, when no relay is configured, .eml files
// in the outbox directory (OutboxSender). Failures are retried with
// back-off; after the last attempt the row is marked 'failed'.
//
// # Exactly once, and where it is only "at most twice"
//
// Two things stop duplicates:
//
//   - the idempotency key: a unique index on mail_messages makes a second
//     EnqueueTx with the same key a no-op, so a retried HTTP request or
//     job that queues mail does not queue it twice;
//   - the row status: the worker sends nothing for a row already 'sent',
//     so a River retry or a rescued job does not send twice.
//
// One window remains, and no SMTP client can close it: the relay accepts
// the message (replies 250 to DATA) and the process dies — SIGKILL, power
// loss, database unreachable — before the row is marked 'sent'. The row
// is left in 'sending'; River later rescues the job and the message is
// sent again. The window is the time between the relay's reply and one
// UPDATE, typically milliseconds. To make such a duplicate harmless, every
// attempt at a message carries the same Message-ID header
// (<hash of idempotency key and row id>@thot): mail clients thread the two
// copies together, and some providers (Gmail) drop the second outright.
// A row in 'sending' with no running job is the trace of this case.
//
// Mail to a recipient the relay refuses permanently (5xx at RCPT TO) is
// not retried; the row is marked 'failed' with the relay's reply.
package mail
