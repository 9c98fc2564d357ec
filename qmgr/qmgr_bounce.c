/* qmgr_bounce - placeholder until the module lands */
