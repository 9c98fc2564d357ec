/* smtpd_chat - placeholder until the module lands */
