/* imap_parser - placeholder until the module lands */
