# Installation (cmake --install BUILD --prefix P) and the Debian package (cpack -G DEB), included
# by the top-level CMakeLists.txt once the lrid_cli target exists.
#
#   P/bin/lrid                          the binary; it finds its data directory as <bin>/../share/lrid
#   P/bin/lrid_read, lrid_plot_results  the Python tools as commands
#   P/share/lrid/{jobs,slurm,cluster,tools,docs}   what the source tree keeps at the same paths
#   P/share/lrid/modulefiles/lrid/<version>.lua    the Lmod modulefile (module use P/share/lrid/modulefiles)
#   P/<LRID_INSTALL_PYTHONDIR>/lrid_read.py        the importable module
set(LRID_INSTALL_PYTHONDIR "lib/python3/dist-packages" CACHE STRING
    "where the lrid_read Python module is installed, relative to the prefix (Debian's python3 reads /usr/lib/python3/dist-packages)")
set(_data share/lrid)   # fixed: lrid looks for <its bin>/../share/lrid (src/util/paths.cpp)

# Keep the RUNPATH to libraries outside the system directories (a wheel's LibTorch, /usr/local/cuda).
set_target_properties(lrid_cli PROPERTIES INSTALL_RPATH_USE_LINK_PATH ON)
install(TARGETS lrid_cli RUNTIME DESTINATION bin)

install(DIRECTORY jobs slurm cluster DESTINATION ${_data} USE_SOURCE_PERMISSIONS)
install(PROGRAMS tools/plot_results.py tools/lrid_read.py DESTINATION ${_data}/tools)
install(FILES tools/lrid_read.py DESTINATION ${LRID_INSTALL_PYTHONDIR})
install(FILES README.md DESTINATION ${_data})
install(DIRECTORY docs/ DESTINATION ${_data}/docs FILES_MATCHING PATTERN "*.md" PATTERN "*.ipynb" PATTERN "*.png")

# The Python tools as commands, run by Debian's python3 (the one with h5py, numpy, matplotlib
# that lrid analyze uses for its plots).
foreach(_tool lrid_read:lrid_read.py lrid_plot_results:plot_results.py)
  string(REPLACE ":" ";" _tool "${_tool}")
  list(GET _tool 0 _cmd)
  list(GET _tool 1 _script)
  file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/install/${_cmd} CONTENT [[#!/bin/sh
# lrid's tools/@_script@, installed in share/lrid/tools beside this command's bin directory.
here=$(dirname "$(readlink -f "$0")")
py=/usr/bin/python3
[ -x "$py" ] || py=python3
exec "$py" "$here/../share/lrid/tools/@_script@" "$@"
]] @ONLY)
  install(PROGRAMS ${PROJECT_BINARY_DIR}/install/${_cmd} DESTINATION bin)
endforeach()

# The modulefile names the prefix it is installed to, which is known only at install time
# (cmake --install --prefix P; /usr inside the Debian package). Written to a file of its own per
# install, so that two installs from one build never meet.
install(CODE "
  set(LRID_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  set(PROJECT_VERSION \"${PROJECT_VERSION}\")
  set(LRID_INSTALL_PYTHONDIR \"${LRID_INSTALL_PYTHONDIR}\")
  string(RANDOM LENGTH 12 _r)
  set(_tmp \"${PROJECT_BINARY_DIR}/install/modulefile-\${_r}.lua\")
  configure_file(\"${PROJECT_SOURCE_DIR}/cmake/lrid.lua.in\" \"\${_tmp}\" @ONLY)
  file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${_data}/modulefiles/lrid\" TYPE FILE
       RENAME \"${PROJECT_VERSION}.lua\" FILES \"\${_tmp}\")
  file(REMOVE \"\${_tmp}\")
")

# --- the Debian package: cpack -G DEB (from the build directory) -> lrid_<version>_amd64.deb
# Depends are the packages that own the libraries the lrid binary needs (found at cpack time by
# cmake/deb_depends.cmake), plus MPI's launcher and the Python tools' modules.
set(LRID_PACKAGE_VERSION ${PROJECT_VERSION})
if(LRID_TORCH_CUDA)
  # A GPU build says which CUDA LibTorch it was built against: lrid_0.1.0+torch2.8.0.cu128_amd64.deb
  set(_cu cuda)
  foreach(_v CUDAToolkit_VERSION CUDA_VERSION)
    if(${_v} MATCHES "^([0-9]+)\\.([0-9]+)")
      set(_cu "cu${CMAKE_MATCH_1}${CMAKE_MATCH_2}")
      break()
    endif()
  endforeach()
  set(LRID_PACKAGE_VERSION "${PROJECT_VERSION}+torch${Torch_VERSION}.${_cu}")
endif()
set(CPACK_PACKAGE_NAME lrid)
set(CPACK_PACKAGE_VERSION ${LRID_PACKAGE_VERSION})
set(CPACK_PACKAGE_CONTACT "lrid maintainers <lrid@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "identify learning rules from neural network observables")
set(CPACK_PACKAGE_DESCRIPTION
    "lrid trains grids of networks under MPI (LibTorch, parallel HDF5), records their observable statistics and trains classifiers that name the learning rule from them (Nayebi et al., NeurIPS 2020). Data directory: /usr/share/lrid (jobs, Slurm templates, cluster profiles, docs, the tutorial notebook).")
set(CPACK_GENERATOR DEB)
set(CPACK_SET_DESTDIR ON)                 # install(CODE) sees the real prefix, /usr
set(CPACK_INSTALL_PREFIX /usr)            # (the prefix with CPACK_SET_DESTDIR)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "dataset-fashion-mnist, python3-pandas, libopenblas0-pthread")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "lmod, slurm-client, python3-nbconvert, python3-ipykernel")
set(CPACK_LRID_BINARY ${PROJECT_BINARY_DIR}/lrid)
set(CPACK_LRID_EXTRA_DEPENDS "openmpi-bin, python3, python3-h5py, python3-numpy, python3-matplotlib")
set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_SOURCE_DIR}/cmake/deb_depends.cmake)
# Python writes __pycache__ beside an imported module; dpkg -r removes only what it installed.
file(WRITE ${PROJECT_BINARY_DIR}/install/prerm "#!/bin/sh
set -e
rm -f /usr/${LRID_INSTALL_PYTHONDIR}/__pycache__/lrid_read.*.pyc
rm -rf /usr/share/lrid/tools/__pycache__
")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${PROJECT_BINARY_DIR}/install/prerm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
