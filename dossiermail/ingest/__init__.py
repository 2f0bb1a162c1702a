"""Getting mail in: archive import (mbox, Maildir, .eml), and the accept step that stores raw bytes."""
