from .roles import role_of


def role(request):
    user = getattr(request, "user", None)
    return {"user_role": role_of(user) if user is not None else None}
