/* rfc2047 - placeholder until the module lands */
