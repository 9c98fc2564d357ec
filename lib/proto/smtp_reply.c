/* smtp_reply - placeholder until the module lands */
