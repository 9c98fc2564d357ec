/* smtpd_session - placeholder until the module lands */
