"""The Gradio WebUI mounted at ``/ui`` of the ``glmtts serve`` app.

It calls the same services as the HTTP API (one engine, one worker thread); nothing here touches a model.
Gradio is imported only inside :func:`glmtts.ui.app.build_ui` and :func:`glmtts.ui.app.mount_ui`.
"""
