/* smtpd_data - placeholder until the module lands */
