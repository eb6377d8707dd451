# cmojo_mojom_generate(TARGET tgt MOJOMS a.mojom... [IMPORT_DIRS dir...]
#                      [FEATURES name...] [OUTPUT_DIR dir])
#
# Runs mojomc at build time on MOJOMS and compiles the generated C into tgt:
# for each input, OUTPUT_DIR/<rel>.h and OUTPUT_DIR/<rel>.c, where <rel> is
# the input's path relative to the first IMPORT_DIRS entry that contains it
# (its file name when none does) - the rule mojomc itself follows. The .c
# files become sources of tgt and OUTPUT_DIR a PUBLIC include directory, so
# `#include "<rel>.h"` works in tgt and in whatever links it. tgt must also
# link the cmojo library (the wire runtime the generated code calls).
#
# IMPORT_DIRS defaults to the current source directory, OUTPUT_DIR to
# <current binary dir>/<tgt>_mojom; FEATURES become mojomc -D flags.
# Every input is a dependency of every output, so list the files a mojom
# imports in MOJOMS too (their code is needed at link time anyway).
#
# Used by cmojo's own build and installed with the CMake package config.
function(cmojo_mojom_generate)
  cmake_parse_arguments(ARG "" "TARGET;OUTPUT_DIR" "MOJOMS;IMPORT_DIRS;FEATURES" ${ARGN})
  if(NOT ARG_TARGET OR NOT ARG_MOJOMS)
    message(FATAL_ERROR "cmojo_mojom_generate: TARGET and MOJOMS are required")
  endif()
  if(TARGET mojomc)
    set(mojomc $<TARGET_FILE:mojomc>)
    set(mojomc_dep mojomc)
  elseif(TARGET cmojo::mojomc)
    set(mojomc $<TARGET_FILE:cmojo::mojomc>)
    set(mojomc_dep cmojo::mojomc)
  else()
    message(FATAL_ERROR "cmojo_mojom_generate: no mojomc target (find_package(cmojo) first)")
  endif()
  if(NOT ARG_OUTPUT_DIR)
    set(ARG_OUTPUT_DIR ${CMAKE_CURRENT_BINARY_DIR}/${ARG_TARGET}_mojom)
  endif()
  if(NOT ARG_IMPORT_DIRS)
    set(ARG_IMPORT_DIRS ${CMAKE_CURRENT_SOURCE_DIR})
  endif()

  set(args "")
  set(dirs "")
  foreach(dir ${ARG_IMPORT_DIRS})
    get_filename_component(abs ${dir} REALPATH BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    list(APPEND dirs ${abs})
    list(APPEND args -I ${abs})
  endforeach()
  foreach(feature ${ARG_FEATURES})
    list(APPEND args -D ${feature})
  endforeach()

  set(inputs "")
  set(outputs "")
  set(sources "")
  foreach(mojom ${ARG_MOJOMS})
    get_filename_component(abs ${mojom} REALPATH BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
    get_filename_component(rel ${abs} NAME)
    foreach(dir ${dirs})
      string(LENGTH "${dir}/" n)
      string(SUBSTRING "${abs}" 0 ${n} head)
      if(head STREQUAL "${dir}/")
        string(SUBSTRING "${abs}" ${n} -1 rel)
        break()
      endif()
    endforeach()
    list(APPEND inputs ${abs})
    list(APPEND outputs ${ARG_OUTPUT_DIR}/${rel}.h ${ARG_OUTPUT_DIR}/${rel}.c)
    list(APPEND sources ${ARG_OUTPUT_DIR}/${rel}.c)
  endforeach()

  add_custom_command(OUTPUT ${outputs}
                     COMMAND ${CMAKE_COMMAND} -E make_directory ${ARG_OUTPUT_DIR}
                     COMMAND ${mojomc} ${args} -o ${ARG_OUTPUT_DIR} ${inputs}
                     DEPENDS ${inputs} ${mojomc_dep}
                     COMMENT "mojomc: generating C for ${ARG_TARGET}"
                     VERBATIM)
  target_sources(${ARG_TARGET} PRIVATE ${sources})
  target_include_directories(${ARG_TARGET} PUBLIC $<BUILD_INTERFACE:${ARG_OUTPUT_DIR}>)
endfunction()
