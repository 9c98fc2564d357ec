/* maildir - placeholder until the module lands */
