// The test binary's main: a copy of it started as a model's worker (the mpi
// model's ranks run the model tests' programs too) runs that instead.
#include <gtest/gtest.h>

#include "core/model.hpp"

int main(int argc, char** argv) {
  if (const int status = parbench::run_worker_if_asked(argc, argv); status >= 0) return status;
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
