# Defines the imported target adjoint::openblas: OpenBLAS and the directory
# of its cblas.h (Debian: libopenblas-dev).
if(NOT TARGET adjoint::openblas)
  find_library(ADJOINT_OPENBLAS_LIBRARY NAMES openblas
               PATH_SUFFIXES openblas-pthread)
  find_path(ADJOINT_CBLAS_INCLUDE_DIR cblas.h
            PATH_SUFFIXES openblas-pthread openblas)
  if(NOT ADJOINT_OPENBLAS_LIBRARY OR NOT ADJOINT_CBLAS_INCLUDE_DIR)
    message(FATAL_ERROR
      "adjoint: OpenBLAS not found; install libopenblas-dev, or configure "
      "with -DADJOINT_USE_OPENBLAS=OFF to use the built-in matrix product")
  endif()
  add_library(adjoint::openblas INTERFACE IMPORTED)
  set_target_properties(adjoint::openblas PROPERTIES
    INTERFACE_LINK_LIBRARIES "${ADJOINT_OPENBLAS_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${ADJOINT_CBLAS_INCLUDE_DIR}")
endif()
