// src/store/h5.cpp: what lrid writes over (check_output), how it writes a new file
// (write_new_file), how a user's file that HDF5 cannot read becomes one message (reading), and
// fixed-length strings read whole (issue 26).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "lrid/error.hpp"
#include "lrid/store/h5.hpp"

using namespace lrid;
namespace h5 = lrid::store::h5;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/lrid_h5_test_XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string operator/(const std::string& name) const { return path + "/" + name; }
};

bool exists(const std::string& p) { return access(p.c_str(), F_OK) == 0; }

void write_with_format(const std::string& path, const std::string& format) {
  h5::write_new_file(path, "test file", [&](hid_t f) { h5::write_string_attr(f, "format", format); });
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const BadInput& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(StoreH5, WriteNewFileIsAtomicAndLeavesNoTmp) {
  TempDir d;
  write_with_format(d / "m.h5", "lrid-model-1");
  EXPECT_TRUE(exists(d / "m.h5"));
  EXPECT_FALSE(exists(d / "m.h5.tmp"));
  EXPECT_EQ(h5::file_format(d / "m.h5"), "lrid-model-1");
  // A failure inside `fill` removes the partial file and leaves the earlier one untouched.
  EXPECT_THROW(h5::write_new_file(d / "m.h5", "test file",
                                  [&](hid_t f) {
                                    h5::write_string_attr(f, "format", "other");
                                    h5::check(-1, "write something");
                                  }),
               BadInput);
  EXPECT_FALSE(exists(d / "m.h5.tmp"));
  EXPECT_EQ(h5::file_format(d / "m.h5"), "lrid-model-1");
  // An unwritable place names the file.
  const std::string msg = error_of([&] { write_with_format(d / "no/such/dir.h5", "x"); });
  EXPECT_NE(msg.find("no/such/dir.h5: cannot write the test file"), std::string::npos) << msg;
}

TEST(StoreH5, CheckOutputReplacesOnlyEarlierOutputsOfTheSameKind) {
  TempDir d;
  write_with_format(d / "in.h5", "lrid-campaign-2");
  write_with_format(d / "old.h5", "lrid-model-1");
  { std::ofstream(d / "job.yaml") << "name: x\n"; }
  // A new file, and an earlier model with --force.
  EXPECT_NO_THROW(h5::check_output(d / "new.h5", "--out", "lrid-model-", {d / "in.h5"}, false));
  EXPECT_NO_THROW(h5::check_output(d / "old.h5", "--out", "lrid-model-", {d / "in.h5"}, true));
  // Without --force, an existing file is refused.
  EXPECT_NE(error_of([&] { h5::check_output(d / "old.h5", "--out", "lrid-model-", {}, false); }).find("--force"),
            std::string::npos);
  // The input itself, through a symlink and a hard link too.
  ASSERT_EQ(symlink((d / "in.h5").c_str(), (d / "link.h5").c_str()), 0);
  ASSERT_EQ(link((d / "in.h5").c_str(), (d / "hard.h5").c_str()), 0);
  for (const char* name : {"in.h5", "link.h5", "hard.h5"}) {
    const std::string msg = error_of([&] { h5::check_output(d / name, "--out", "lrid-campaign-", {d / "in.h5"}, true); });
    EXPECT_NE(msg.find("names the input"), std::string::npos) << name << ": " << msg;
  }
  // Another kind of file, a file that is not lrid's, a directory.
  EXPECT_NE(error_of([&] { h5::check_output(d / "in.h5", "--out", "lrid-model-", {}, true); }).find("format lrid-campaign-2"),
            std::string::npos);
  EXPECT_NE(error_of([&] { h5::check_output(d / "job.yaml", "--out", "lrid-model-", {}, true); }).find("not an lrid file"),
            std::string::npos);
  EXPECT_NE(error_of([&] { h5::check_output(d.path, "--out", "lrid-model-", {}, true); }).find("directory"),
            std::string::npos);
}

TEST(StoreH5, ReadingTurnsHdf5FailuresIntoBadInputNamingTheFile) {
  TempDir d;
  h5::write_new_file(d / "f.h5", "test file", [&](hid_t f) {
    h5::write_string_attr(f, "format", "x");
    h5::write_int_attr(f, "n", 3);
  });
  const h5::Id f = h5::open_file(d / "f.h5", "test file");
  const std::string msg = error_of([&] { h5::reading(d / "f.h5", [&] { return h5::read_doubles(f, "/missing"); }); });
  EXPECT_NE(msg.find(d / "f.h5"), std::string::npos) << msg;
  EXPECT_NE(msg.find("/missing"), std::string::npos) << msg;
  // A string attribute read as a string that is not one: an h5::Error, so BadInput too.
  EXPECT_THROW(h5::reading(d / "f.h5", [&] { return h5::read_string_attr(f, "n"); }), BadInput);
}

TEST(StoreH5, FixedLengthStringsKeepTheirLastCharacter) {
  TempDir d;
  const std::string path = d / "s.h5";
  h5::write_new_file(path, "test file", [&](hid_t f) {
    for (const auto pad : {H5T_STR_NULLPAD, H5T_STR_SPACEPAD, H5T_STR_NULLTERM}) {
      h5::Id t(H5Tcopy(H5T_C_S1));
      const size_t width = pad == H5T_STR_NULLTERM ? 5 : 4;  // "sgdm" fills a NULLPAD/SPACEPAD type
      H5Tset_size(t, width);
      H5Tset_strpad(t, pad);
      h5::Id space(H5Screate(H5S_SCALAR));
      const std::string name = "a" + std::to_string(static_cast<int>(pad));
      h5::Id a(H5Acreate2(f, name.c_str(), t, space, H5P_DEFAULT, H5P_DEFAULT));
      char buf[8] = "sgdm";
      H5Awrite(a, t, buf);
    }
  });
  const h5::Id f = h5::open_file(path, "test file");
  for (const auto pad : {H5T_STR_NULLPAD, H5T_STR_SPACEPAD, H5T_STR_NULLTERM})
    EXPECT_EQ(h5::read_string_attr(f, "a" + std::to_string(static_cast<int>(pad))), "sgdm") << pad;
}

TEST(StoreH5, CheckFitsInMemoryRefusesADatasetLargerThanTheMachine) {
  EXPECT_NO_THROW(h5::check_fits_in_memory("f.h5", "/x", 1000, 4));
  const std::string msg = error_of([] { h5::check_fits_in_memory("f.h5", "/x", uint64_t{1} << 60, 4); });
  EXPECT_NE(msg.find("f.h5: /x declares"), std::string::npos) << msg;
}
