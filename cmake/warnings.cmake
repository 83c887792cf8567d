# Project-wide warning flags, applied through an interface target so third-party code is untouched.
add_library(project_warnings INTERFACE)
target_compile_options(project_warnings INTERFACE -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)
if(MICROVM_WERROR)
  target_compile_options(project_warnings INTERFACE -Werror)
endif()
