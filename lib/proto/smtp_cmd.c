/* smtp_cmd - placeholder until the module lands */
