/* smtpd_check - placeholder until the module lands */
