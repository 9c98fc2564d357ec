/* imap_utf7 - placeholder until the module lands */
