/* smtpd_cmd - placeholder until the module lands */
