/* qmgr_message - placeholder until the module lands */
