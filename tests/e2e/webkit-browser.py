# The WebKit browser the e2e tests drive through WebKitWebDriver: Debian's
# WebKitGTK engine in a bare window, as MiniBrowser is, with two
# differences the tests need. MiniBrowser under automation keeps website
# data in memory only, so IndexedDB could not outlive a browser restart or
# a crash; this one keeps it on disk in --profile=DIR (what a real WebKit
# browser does). And it runs the init scripts listed in --init-scripts=FILE
# (a JSON array of sources, read again before a navigation when the file
# changed) at the start of every document, which WebDriver classic has no
# command for.
#
# WebKitWebDriver starts it (webkitgtk:browserOptions in browsers.js) as
# `/usr/bin/python3 webkit-browser.py ...`: Debian's Python, which has the
# GObject bindings (python3-gi, gir1.2-webkit2-4.1), whatever python3 comes
# first on PATH. Then it asks for windows through the automation session's
# create-web-view signal.
import json
import os
import sys

import gi

gi.require_version('Gtk', '3.0')
gi.require_version('WebKit2', '4.1')
from gi.repository import Gtk, WebKit2  # noqa: E402


def option(name, default=None):
    prefix = f'--{name}='
    for arg in sys.argv[1:]:
        if arg.startswith(prefix):
            return arg[len(prefix):]
    return default


profile = option('profile')
if not profile:
    sys.exit('webkit-browser.py: --profile=DIR is required')
init_scripts_file = option('init-scripts')
width, height = (int(n) for n in option('size', '900x700').split('x'))
# --color-scheme=dark|light: what the system asks of apps. WebKitGTK answers
# prefers-color-scheme from GTK's dark-theme preference.
color_scheme = option('color-scheme')
if color_scheme:
    Gtk.Settings.get_default().set_property('gtk-application-prefer-dark-theme', color_scheme == 'dark')

data_manager = WebKit2.WebsiteDataManager(
    base_data_directory=os.path.join(profile, 'data'),
    base_cache_directory=os.path.join(profile, 'cache'))
context = WebKit2.WebContext(website_data_manager=data_manager)
context.set_automation_allowed(True)
content_manager = WebKit2.UserContentManager()
loaded_scripts = {'stamp': None}


def refresh_init_scripts():
    # Cheap enough to do before every navigation: a stat, and a read only
    # when the file changed since.
    if not init_scripts_file:
        return
    try:
        st = os.stat(init_scripts_file)
    except FileNotFoundError:
        return
    stamp = (st.st_mtime_ns, st.st_size)
    if stamp == loaded_scripts['stamp']:
        return
    with open(init_scripts_file, encoding='utf-8') as f:
        sources = json.load(f)
    loaded_scripts['stamp'] = stamp
    content_manager.remove_all_scripts()
    for source in sources:
        content_manager.add_script(WebKit2.UserScript.new(
            source, WebKit2.UserContentInjectedFrames.TOP_FRAME,
            WebKit2.UserScriptInjectionTime.START, None, None))


def on_decide_policy(view, decision, kind):
    if kind == WebKit2.PolicyDecisionType.NAVIGATION_ACTION:
        refresh_init_scripts()
    return False  # the default decision


windows = set()


def window_closed(window):
    # Like a browser, it quits with its last window (WebDriver's Delete
    # Session closes them all).
    windows.discard(window)
    if not windows:
        Gtk.main_quit()


def create_web_view(session):
    refresh_init_scripts()
    view = WebKit2.WebView(web_context=context, user_content_manager=content_manager,
                           is_controlled_by_automation=True)
    view.connect('decide-policy', on_decide_policy)
    window = Gtk.Window()
    windows.add(window)
    window.connect('destroy', window_closed)
    window.set_default_size(width, height)
    window.add(view)
    # window.close() and WebDriver's Close Window end here.
    view.connect('close', lambda v: window.destroy())
    window.show_all()
    return view


def on_automation_started(ctx, session):
    info = WebKit2.ApplicationInfo.new()
    info.set_name('webkit-browser')
    info.set_version(WebKit2.get_major_version(), WebKit2.get_minor_version(), WebKit2.get_micro_version())
    session.set_application_info(info)
    session.connect('create-web-view', create_web_view)


context.connect('automation-started', on_automation_started)
Gtk.main()
