#include <gtest/gtest.h>
#include "rtfs/interpreter.hpp"
