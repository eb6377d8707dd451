# Installs headers, both libraries, cmojo.pc and a CMake package config so that
# users can find_package(cmojo) or pkg-config --cflags --libs cmojo.
include(CMakePackageConfigHelpers)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS cmojo cmojo_static EXPORT cmojoTargets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
if(TARGET mojomc)
  install(TARGETS mojomc EXPORT cmojoTargets RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
if(TARGET cmojo-validate)
  install(TARGETS cmojo-validate EXPORT cmojoTargets RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
install(EXPORT cmojoTargets NAMESPACE cmojo::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cmojo)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/cmojoConfig.cmake.in
  ${PROJECT_BINARY_DIR}/cmojoConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cmojo)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/cmojoConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
# CmojoMojom.cmake: cmojo_mojom_generate(), included by cmojoConfig.cmake.
install(FILES ${PROJECT_BINARY_DIR}/cmojoConfig.cmake
              ${PROJECT_BINARY_DIR}/cmojoConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/CmojoMojom.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/cmojo)

file(RELATIVE_PATH CMOJO_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${PROJECT_SOURCE_DIR}/cmake/cmojo.pc.in ${PROJECT_BINARY_DIR}/cmojo.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/cmojo.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
