#include <gtest/gtest.h>
#include "rtfs/reader.hpp"
