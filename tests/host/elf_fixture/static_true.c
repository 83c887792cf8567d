/* A statically linked program: no interpreter, no libraries. */
int main(void) { return 0; }
