/* passwd_file - placeholder until the module lands */
