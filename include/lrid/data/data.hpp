#pragma once
// The data module: readers, label maps, seeded batches, augmentation, observation batch.
// See docs/data.md.
#include "lrid/data/augment.hpp"
#include "lrid/data/batches.hpp"
#include "lrid/data/dataset.hpp"
