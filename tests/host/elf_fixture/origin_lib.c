/* A shared library found only through its user's DT_RUNPATH ($ORIGIN). */
int origin_value(void) { return 42; }
