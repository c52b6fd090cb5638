# `make install` (PREFIX, DESTDIR) and the files `make deb` packages:
# binaries, systemd units (ExecStart= pointing at the installed binaries),
# sysusers and tmpfiles entries, man pages (scdoc), bash completion, the
# example agent config.
include(GNUInstallDirs)
set(TETHER_SYSTEMD_DIR "lib/systemd/system" CACHE STRING "units, under the prefix")

install(TARGETS tether-server tether-relay tether-agent tether-cli
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# ExecStart= names the installed binary: the prefix is the one given at
# install time (cmake --install --prefix, or CMAKE_INSTALL_PREFIX).
foreach(unit tether-server tether-relay tether-agent)
  install(CODE "
    file(READ \"${CMAKE_SOURCE_DIR}/dist/${unit}.service\" _unit)
    string(REPLACE \"/usr/bin/\" \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/\" _unit \"\${_unit}\")
    file(MAKE_DIRECTORY \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${TETHER_SYSTEMD_DIR}\")
    message(STATUS \"Installing: \$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${TETHER_SYSTEMD_DIR}/${unit}.service\")
    file(WRITE \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${TETHER_SYSTEMD_DIR}/${unit}.service\" \"\${_unit}\")
  ")
  install(FILES ${CMAKE_SOURCE_DIR}/dist/tmpfiles/${unit}.conf
          DESTINATION lib/tmpfiles.d)
  install(FILES ${CMAKE_SOURCE_DIR}/dist/sysusers/${unit}.conf
          DESTINATION lib/sysusers.d)
endforeach()
install(FILES ${CMAKE_SOURCE_DIR}/dist/tether-agent.conf.example
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
foreach(prog tether tether-server tether-relay tether-agent)
  install(FILES ${CMAKE_SOURCE_DIR}/dist/completion/tether.bash
          DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME ${prog})
endforeach()

# Man pages: docs/man/NAME.SECTION.scd -> man/manSECTION/NAME.SECTION.
find_program(SCDOC scdoc)
if(SCDOC)
  file(GLOB _scd CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/docs/man/*.scd)
  set(_pages)
  foreach(src ${_scd})
    get_filename_component(page ${src} NAME)
    string(REGEX REPLACE "\\.scd$" "" page "${page}")
    string(REGEX REPLACE "^.*\\.([0-9])$" "\\1" sect "${page}")
    set(out ${CMAKE_BINARY_DIR}/man/${page})
    add_custom_command(OUTPUT ${out}
                       COMMAND ${SCDOC} < ${src} > ${out}
                       DEPENDS ${src} VERBATIM)
    list(APPEND _pages ${out})
    install(FILES ${out} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${sect})
  endforeach()
  file(MAKE_DIRECTORY ${CMAKE_BINARY_DIR}/man)
  add_custom_target(man ALL DEPENDS ${_pages})
else()
  message(WARNING "scdoc not found: no man pages (scripts/deps installs it)")
endif()
