/* qmgr_scan - placeholder until the module lands */
