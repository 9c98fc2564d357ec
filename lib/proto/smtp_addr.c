/* smtp_addr - placeholder until the module lands */
