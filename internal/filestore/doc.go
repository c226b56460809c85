// Package filestore keeps binary objects (generated PDFs, scanned document
// images, uploads) outside the database, addressed by a relative name such as
// "albaranes/2026/11/albaran_12_AC21.png".
//
// The database stores only the name (and, if useful, the SHA-256 and content
// type returned by Put); the bytes live in a Store. Local is the only
// implementation today: a directory on the server's disk.
//
// # Safety rules
//
// Names often carry pieces that came from users (an uploaded file's original
// name, a customer code), and the files are confidential, so every method
// applies the same rules:
//
//   - A name is one or more "/"-separated segments made only of
//     [A-Za-z0-9._-]. Absolute names, "." and ".." segments, empty segments
//     ("a//b", trailing "/"), backslashes, NUL and other control characters
//     are refused with a KindInvalid error before the disk is touched. A
//     small, portable alphabet means a name can never be read differently by
//     another OS, shell or tool than it was by this check. Build names from
//     user input with SafeName, which maps anything else to that alphabet.
//   - Segments may not start with "." : that rules out hidden files and makes
//     it impossible to address (or clobber) the temporary files Put writes.
//   - Local resolves every name through an os.Root, so even a symlink placed
//     inside the directory cannot lead a read or write outside it. The name
//     check and os.Root are independent layers; either alone would stop
//     "../" traversal, but only os.Root stops symlink escapes.
//   - Put enforces a size limit and, when asked, a list of allowed content
//     types sniffed from the bytes themselves (never from the client's
//     filename or Content-Type header, which are attacker-controlled).
//   - Put never leaves a partial object: it writes a temporary file in the
//     destination directory and renames it into place only once the data is
//     complete and synced. A failed Put leaves nothing behind.
//   - Files are created 0o600 and directories 0o700: only the thot process
//     user may read them.
//
// Nothing in this package serves HTTP. The HTTP layer is responsible for
// serving objects only to authenticated, authorised users, and should send
// the stored ContentType (not one derived from the name) together with
// "X-Content-Type-Options: nosniff".
package filestore
