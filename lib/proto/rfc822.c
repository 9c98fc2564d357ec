/* rfc822 - placeholder until the module lands */
