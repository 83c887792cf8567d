/* Prints what a library reached through $ORIGIN returns. */
#include <stdio.h>

int origin_value(void);

int main(void) {
    printf("%d\n", origin_value());
    return 0;
}
